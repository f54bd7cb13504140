/* bench/bench.h — benchmark sections; bench/bench.c has main(). */
#ifndef FOUNT_BENCH_BENCH_H
#define FOUNT_BENCH_BENCH_H

/* bench_entropy prints raw sample rates of each noise source with and
 * without the SP 800-90B health tests (bench/bench_entropy.c). */
void bench_entropy(double seconds_per_case);

/* bench_keys prints keys per second for every key type through fount and
 * through OpenSSL's own EVP keygen in the same library context, AES-256
 * key generation rates, and AES-KW wraps per second (bench/bench_keys.c). */
void bench_keys(double seconds_per_case);
/* bench_keys_sym is bench_keys without the key pairs: AES keys and AES-KW. */
void bench_keys_sym(double seconds_per_case);
/* bench_hsm compares fount's PKCS#11 path (RNG draws, seeding, imports by
 * unwrap) with pkcs11-tool on a throw-away SoftHSMv2 token
 * (bench/bench_hsm.c); skipped with a note when SoftHSM is absent. */
void bench_hsm(double seconds_per_case);
/* bench_kmip loads the KMIP server over mutual TLS on loopback (1 and 16
 * clients) and pykmip-server with the same generator (bench/bench_kmip.c). */
void bench_kmip(double seconds_per_case);
/* bench_store compares durable store_put rates (1 and 16 threads) with a
 * plain SQLite loop of one INSERT per COMMIT, WAL + synchronous=FULL
 * (bench/bench_store.c). */
void bench_store(double seconds_per_case);
/* bench_http loads the HTTP API with wrk: /v1/random at 32 B and 64 KiB over
 * HTTPS and plain HTTP, 1 and 64 connections, beside /dev/urandom and the
 * in-process DRBG; POST /v1/keys creates/s (bench/bench_http.c). */
void bench_http(double seconds_per_case);

/* bench_egd reads the EGD socket with pipelined 02 FF (1 and 16
 * connections, Unix and TCP) beside the in-process DRBG and /dev/urandom
 * (bench/bench_egd.c). */
void bench_egd(double seconds_per_case);

/* bench_ha runs `fount serve` processes on SQLite, on PostgreSQL with one
 * and two nodes, and with a synchronous standby: KMIP Create and Get per
 * second and p99 at 1 and 16 clients (bench/bench_ha.c). */
void bench_ha(double seconds_per_case);

#endif
