/* selftest/internal.h — private to selftest/. */
#ifndef FOUNT_SELFTEST_INTERNAL_H
#define FOUNT_SELFTEST_INTERNAL_H

#include "selftest/selftest.h"

/* Each self-test writes a short note on failure to |detail| and returns
 * ERR_OK or the reason. Known-answer comparisons go through
 * selftest_check(), which is where the break hook acts. */
typedef err_t (*selftest_fn)(char *detail, size_t detail_len);

err_t selftest_integrity(char *detail, size_t detail_len);
err_t selftest_kat_aes256_enc(char *detail, size_t detail_len);
err_t selftest_kat_aes256_dec(char *detail, size_t detail_len);
err_t selftest_kat_sha256(char *detail, size_t detail_len);
err_t selftest_kat_sha512(char *detail, size_t detail_len);
err_t selftest_kat_hmac_sha256(char *detail, size_t detail_len);
err_t selftest_kat_ctr_drbg(char *detail, size_t detail_len);
err_t selftest_kat_ctr_drbg_zeroize(char *detail, size_t detail_len);
err_t selftest_health_rct(char *detail, size_t detail_len);
err_t selftest_health_apt(char *detail, size_t detail_len);

#endif
