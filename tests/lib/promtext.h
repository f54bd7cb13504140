/* tests/lib/promtext.h — support code: a strict checker of the Prometheus
 * text exposition format 0.0.4 (for fount's GET /metrics), and a lookup
 * of one sample's value. */
#ifndef FOUNT_TESTS_LIB_PROMTEXT_H
#define FOUNT_TESTS_LIB_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* promtext_check returns true when |text| is valid exposition text by the
 * rules fount promises (README, api/metrics.c): every line ends in \n;
 * # HELP and # TYPE at most once per family, TYPE before its samples;
 * metric and label names valid, label values escaped, no series twice;
 * counters end in _total; histogram buckets cumulative, ending in
 * le="+Inf" equal to _count. Otherwise |why| names the first bad line. */
bool promtext_check(const char *text, char *why, size_t why_len);

/* promtext_value finds the sample whose name and labels are exactly
 * |series| (e.g. "fount_kmip_operations_total{operation=\"create\",result=\"success\"}")
 * and stores its value; false when there is none. */
bool promtext_value(const char *text, const char *series, double *out);

#endif
