/* cli/keyfile.c — files of key material for keygen, wrap and unwrap:
 * bounded reads into secure memory, and the one-line messages for KEKs
 * that cannot be loaded or cannot wrap. (Output files are written through
 * cli/common.c's cli_create_file / cli_finish_file.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "key files read for fount wrap and unwrap, in locked memory");

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

err_t cli_kek_load(const char *cmd, const char *path, enum keygen_wrap_alg alg,
		   bool private_key, struct keygen_kek *k)
{
	struct cli_buf b;
	err_t r;

	memset(k, 0, sizeof(*k));
	GUARD(cli_read_file(cmd, "KEK", path, keygen_kek_max_len(alg), &b));
	r = keygen_kek_load(alg, private_key ? KEYGEN_PART_PRIVATE : KEYGEN_PART_PUBLIC, b.p,
			    b.len, k);
	if (r != ERR_OK && alg != KEYGEN_WRAP_RSA_OAEP)
		fprintf(stderr, "fount %s: KEK %s must be a raw 16, 24 or 32-byte AES key, "
			"not %zu bytes\n", cmd, path, b.len);
	else if (r != ERR_OK)
		fprintf(stderr, "fount %s: KEK %s is not an RSA %s key (%s, PEM or DER)\n", cmd, path,
			private_key ? "private" : "public",
			private_key ? "PKCS#8" : "SubjectPublicKeyInfo");
	cli_buf_free(&b);
	return r;
}

void cli_wrap_error(const char *cmd, enum keygen_wrap_alg alg, size_t key_len, err_t r)
{
	if (alg == KEYGEN_WRAP_RSA_OAEP && r == ERR_TOO_LARGE)
		fprintf(stderr, "fount %s: a %zu-byte key is too large for RSA-OAEP "
			"under this KEK; use kwp\n", cmd, key_len);
	else if (alg != KEYGEN_WRAP_RSA_OAEP && r == ERR_INVALID_ARG &&
		 keygen_aes_wrap_len(alg, key_len) == 0)
		fprintf(stderr, "fount %s: %s cannot wrap a %zu-byte key%s\n", cmd,
			alg == KEYGEN_WRAP_KW ? "kw" : "kwp", key_len,
			alg == KEYGEN_WRAP_KW ? " (it needs a multiple of 8 bytes, at least 16; use kwp)"
					      : " (too large)");
	else
		fprintf(stderr, "fount %s: wrap failed: %s\n", cmd, err_str(r));
}
