/*
 * lib/quantity.h - Kubernetes resource quantities (resource.Quantity).
 *
 * A quantity is a decimal number with a suffix: "100m", "1.5Gi", "2e3",
 * "1k", "0.5", "-1". It is held exactly as value * 10^scale (like
 * upstream's int64Amount) plus the format the suffix implied, so a round
 * trip through quantity_parse() and quantity_format() gives the canonical
 * string kube-apiserver would serve:
 *   "0.5" -> "500m", "1024Mi" -> "1Gi", "1.5Gi" -> "1536Mi", "1000" -> "1k",
 *   "2e3" -> "2e3", "0.1Ki" -> "102400m", "100m" -> "100m".
 * As upstream, precision below 1n (10^-9) is rounded up, away from zero
 * ("1.0000000001" -> "1000000001n", "1e-12" -> "1e-9"), and when the input
 * is already canonical upstream keeps the input text verbatim (so "+1",
 * "01" and "1E3" are served back as written); struct quantity keeps that
 * text too. Values whose significant digits do not fit in int64 are refused
 * with -ERANGE (upstream would fall back to arbitrary precision; no real
 * resource amount needs that), except that a binary-SI amount is capped at
 * 2^63-1 as upstream caps it.
 *
 * Error messages are static strings (never freed), upstream's wording:
 *   "quantities must match the regular expression
 *    '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
 *   "unable to parse quantity's suffix"
 *
 * Limits: QUANTITY_MAX_LEN bytes of input; exponents beyond
 * +-QUANTITY_MAX_EXP are -ERANGE.
 */
#ifndef K1S_LIB_QUANTITY_H
#define K1S_LIB_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define QUANTITY_MAX_LEN	128	/* bytes of a quantity string */
#define QUANTITY_MAX_EXP	60	/* |decimal exponent| accepted */
#define QUANTITY_STR_MAX	48	/* buffer for quantity_format() */

enum quantity_format {
	QUANTITY_DECIMAL_SI,		/* m, "", k, M, G, T, P, E */
	QUANTITY_BINARY_SI,		/* Ki, Mi, Gi, Ti, Pi, Ei */
	QUANTITY_DECIMAL_EXPONENT,	/* e3, E-6 */
};

struct quantity {
	int64_t value;			/* the amount is value * 10^scale */
	int32_t scale;			/* >= -9 after parsing */
	enum quantity_format format;
	/* the input text when upstream would serve it verbatim, else "" */
	char s[QUANTITY_STR_MAX];
};

/* Parses s. 0, or -EINVAL/-ERANGE with *err set to a static message. */
int quantity_parse(const char *s, struct quantity *q, const char **err);

/*
 * Parses a JSON value: a string as above, or a number (upstream accepts
 * unquoted numbers and parses their text). -EINVAL for other types.
 */
int quantity_from_json(const cJSON *v, struct quantity *q, const char **err);

/* Writes the canonical form into out (QUANTITY_STR_MAX bytes suffice). */
void quantity_format(const struct quantity *q, char *out, size_t len);

/* Parses and re-formats in one step; 0 or -errno with *err as above. */
int quantity_canonicalize(const char *in, char *out, size_t len, const char **err);

/* -1, 0, 1 as a < b, a == b, a > b (exact, whatever the scales). */
int quantity_cmp(const struct quantity *a, const struct quantity *b);

bool quantity_is_zero(const struct quantity *q);

/*
 * a += b, keeping a's format (b's when a is zero, as upstream).
 * 0, or -ERANGE on overflow (a unchanged).
 */
int quantity_add(struct quantity *a, const struct quantity *b);
/* a -= b, keeping a's format. 0, or -ERANGE on overflow (a unchanged). */
int quantity_sub(struct quantity *a, const struct quantity *b);

/*
 * The amount in units (Value()) and in thousandths (MilliValue()), rounded
 * up as upstream does ("100m" -> 1 and 100; "1.5" -> 2 and 1500).
 * Saturate at INT64_MAX/INT64_MIN.
 */
int64_t quantity_value(const struct quantity *q);
int64_t quantity_milli_value(const struct quantity *q);

/* A quantity of v * 10^scale in the given format. */
void quantity_init(struct quantity *q, int64_t v, int32_t scale, enum quantity_format f);

#endif
