/* selftest/internal.h — private to selftest/. */
#ifndef FOUNT_SELFTEST_INTERNAL_H
#define FOUNT_SELFTEST_INTERNAL_H

#include "selftest/selftest.h"

/* Each self-test writes a short note on failure to |detail| and returns
 * ERR_OK or the reason. Known-answer comparisons go through
 * selftest_check(), which is where the break hook acts. */
/* SELFTEST_SKIPPED: a self-test may return this (not an error) when the
 * active provider lacks its algorithm, which fount then does not offer
 * either; it is recorded as skipped, with the detail saying why. */
#define SELFTEST_SKIPPED 1

/* selftest_is_broken reports whether FOUNT_SELFTEST_BREAK names |name|.
 * For tests whose answer is a verdict rather than a value: they corrupt
 * their input instead of going through selftest_check. */
bool selftest_is_broken(const char *name);

typedef err_t (*selftest_fn)(char *detail, size_t detail_len);

/* selftest_note writes |what| (a fixed text, never a secret) as the
 * failing test's detail. */
void selftest_note(char *detail, size_t detail_len, const char *what);

err_t selftest_integrity(char *detail, size_t detail_len);
/* selftest_integrity_forget drops the cached expected value (a reset for
 * testing: the next run reads <binary>.hmac again). */
void selftest_integrity_forget(void);
err_t selftest_kat_aes256_enc(char *detail, size_t detail_len);
err_t selftest_kat_aes256_dec(char *detail, size_t detail_len);
err_t selftest_kat_sha256(char *detail, size_t detail_len);
err_t selftest_kat_sha512(char *detail, size_t detail_len);
err_t selftest_kat_hmac_sha256(char *detail, size_t detail_len);
err_t selftest_kat_ctr_drbg(char *detail, size_t detail_len);
err_t selftest_kat_ctr_drbg_zeroize(char *detail, size_t detail_len);
err_t selftest_kat_aes_kw(char *detail, size_t detail_len);
err_t selftest_kat_rsa_sign(char *detail, size_t detail_len);
err_t selftest_kat_ecdsa_verify(char *detail, size_t detail_len);
err_t selftest_kat_eddsa_sign(char *detail, size_t detail_len);
err_t selftest_health_rct(char *detail, size_t detail_len);
err_t selftest_health_apt(char *detail, size_t detail_len);

/* ---- the ACVP harness (selftest/acvp.c, acvp_algs.c) ---- */
#include <stdio.h>

#include <jansson.h>

#include "keygen/keygen.h"

#define ACVP_MAX_INPUT_BITS (CTR_DRBG_MAX_INPUT_LEN * 8)
#define ACVP_MSG_LEN 160
/* acvp_worse keeps the more severe of two results: PARSE over UNSUPPORTED over OK */
err_t acvp_worse(err_t a, err_t b);
/* a non-negative integer member no larger than |max| (else ERR_PARSE, |msg| says why) */
err_t acvp_get_int(const json_t *obj, const char *key, json_int_t max, json_int_t *out, char *msg) MUST_CHECK;
/* the hex member |key|, exactly |bits| bits (a multiple of 8), into a new
 * buffer (NULL when empty): free with acvp_free_secret */
err_t acvp_get_bits(const json_t *obj, const char *key, json_int_t bits, uint8_t **out, size_t *out_len, char *msg)
	MUST_CHECK;
void acvp_free_secret(uint8_t *p, size_t len);
/* acvp_hex: |n| bytes as a JSON string of upper-case hex, as ACVP writes
 * it (NULL when out of memory) */
json_t *acvp_hex(const uint8_t *p, size_t n);
/* acvp_alg_known: an algorithm acvp_algs.c answers; acvp_run_alg_group
 * runs one of its groups and appends the answer (or the group's error) to
 * |groups| */
bool acvp_alg_known(const char *algorithm);
err_t acvp_run_alg_group(const char *algorithm, const json_t *jg, json_t *groups, FILE *err) MUST_CHECK;

#endif
