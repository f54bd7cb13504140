/* api/metrics.h — what fount counts for GET /metrics (api/metrics.c), and
 * the Prometheus text it renders. Private to api/. */
#ifndef FOUNT_API_METRICS_H
#define FOUNT_API_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* metrics_kmip_item counts one KMIP batch item: its Operation (0 when the
 * item named none), its Result Status and how long it took. Lock-free. */
void metrics_kmip_item(uint32_t operation, uint32_t result_status, uint64_t ns);

/* metrics_register_kmip makes |s|'s counters part of the text (|on|) or
 * no longer (the newest still registered is the one shown); api_kmip_start
 * and api_kmip_stop call it. */
struct api_kmip;
void metrics_register_kmip(struct api_kmip *s, bool on);
/* the same for the EGD listener (api_egd_start, api_egd_stop) */
struct api_egd;
void metrics_register_egd(struct api_egd *s, bool on);
/* and for the HTTP API (api_http_start, api_http_stop) */
struct api_http;
void metrics_register_http(struct api_http *s, bool on);

/* metrics_family writes the # HELP and # TYPE lines of one metric family
 * (into a util.h strbuf). */
void metrics_family(struct strbuf *t, const char *name, const char *type, const char *help);

/* metrics_render writes every metric fount keeps (Prometheus exposition
 * format 0.0.4) to |t|: the module state |state| ("OPERATIONAL", ...),
 * build information, the noise sources' health tests, the DRBG tree, KMIP
 * items by operation and result with latency histograms, the KMIP
 * EGD and HTTP listeners, the store's commits and size. ERR_NOMEM when the text could not be built. */
err_t metrics_render(struct strbuf *t, const char *state) MUST_CHECK NONNULL(1);

#endif
