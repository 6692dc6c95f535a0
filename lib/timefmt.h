/*
 * lib/timefmt.h - RFC 3339 times as Kubernetes writes them.
 *
 * metav1.Time is "2006-01-02T15:04:05Z" (seconds, UTC); metav1.MicroTime
 * has six fractional digits. Parsing accepts any RFC 3339 offset and
 * fraction and returns nanoseconds since the epoch.
 */
#ifndef K1S_LIB_TIMEFMT_H
#define K1S_LIB_TIMEFMT_H

#include <stdint.h>
#include <stddef.h>

#define RFC3339_MAX 40	/* buffer size, in bytes, that fits any output */

/* Formats ns since the epoch as "YYYY-MM-DDThh:mm:ssZ" into out. */
void rfc3339_format(int64_t ns, char out[RFC3339_MAX]);
/* Same with microseconds: "YYYY-MM-DDThh:mm:ss.uuuuuuZ". */
void rfc3339_format_micro(int64_t ns, char out[RFC3339_MAX]);
/* Parses; 0 and *ns set, or -EINVAL. */
int rfc3339_parse(const char *s, int64_t *ns);
/* Parses a Go duration ("40s", "1m30s", "500ms", "2h"; units h m s ms us
 * ns) into milliseconds (rounded down); 0, or -EINVAL. */
int duration_parse_ms(const char *s, int64_t *ms);

#endif
