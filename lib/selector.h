/*
 * lib/selector.h - label selectors, field selectors and label validation,
 * with kube-apiserver's syntax, semantics and error messages.
 *
 * Label selectors (k8s.io/apimachinery/pkg/labels):
 *   "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a", "!a", "a>1",
 *   "a<1"; a comma means AND. Requirements are kept sorted by key (as
 *   upstream does) and sel_label_string() prints the canonical form.
 *   Matching is against a labels object (cJSON object of string values; a
 *   non-string value is treated as absent). An empty selector matches
 *   everything.
 *   sel_label_from_json() builds the same structure from a
 *   metav1.LabelSelector object {matchLabels, matchExpressions}; per
 *   upstream LabelSelectorAsSelector, a NULL selector matches nothing and
 *   {} matches everything.
 *
 * Field selectors (k8s.io/apimachinery/pkg/fields): "a=b", "a==b", "a!=b",
 *   comma = AND; in a value, "\\", "\," and "\=" escape those characters;
 *   an unescaped ',' or '=' in a value is an error. Terms are exposed so the
 *   server can check the field names a kind supports; matching asks a
 *   getter callback for each field's value.
 *
 * Error messages are upstream's wording; *err is malloc'd (caller frees).
 *
 * Limits: SEL_MAX_LEN bytes of selector text, SEL_MAX_REQS requirements,
 * SEL_MAX_VALUES values in one set. Beyond: -E2BIG with a message.
 */
#ifndef K1S_LIB_SELECTOR_H
#define K1S_LIB_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define SEL_MAX_LEN	65536	/* bytes of a selector string */
#define SEL_MAX_REQS	1024	/* requirements (label) or terms (field) */
#define SEL_MAX_VALUES	1024	/* values of one in/notin set */

#define SEL_LABEL_VALUE_MAX	63	/* bytes of a label value */
#define SEL_LABEL_NAME_MAX	63	/* bytes of the name part of a key */
#define SEL_DNS1123_SUBDOMAIN_MAX 253	/* bytes of a key prefix */

/* Operators, named as upstream's selection.Operator strings. */
enum sel_op {
	SEL_OP_EXISTS,		/* "exists"   key */
	SEL_OP_NOT_EXISTS,	/* "!"        !key */
	SEL_OP_EQUALS,		/* "="        key=v */
	SEL_OP_DOUBLE_EQUALS,	/* "=="       key==v */
	SEL_OP_NOT_EQUALS,	/* "!="       key!=v */
	SEL_OP_IN,		/* "in"       key in (v,...) */
	SEL_OP_NOT_IN,		/* "notin"    key notin (v,...) */
	SEL_OP_GT,		/* "gt"       key>n (integers) */
	SEL_OP_LT,		/* "lt"       key<n */
};

struct sel_req {
	char *key;
	enum sel_op op;
	char **values;		/* sorted, unique; owned */
	size_t nvalues;
};

struct sel_label {
	struct sel_req *reqs;	/* sorted by key (stable); owned */
	size_t nreqs;
	bool nothing;		/* matches nothing (NULL LabelSelector) */
};

#define SEL_LABEL_INIT { NULL, 0, false }

/*
 * Parses label selector text. 0 on success; -EINVAL (syntax or validation,
 * e.g. "unable to parse requirement: <nil>: Invalid value: \"a b\": ...")
 * or -E2BIG. On error *sel is left empty. Release with sel_label_release().
 */
int sel_label_parse(const char *s, struct sel_label *sel, char **err);

/*
 * Builds a selector from a metav1.LabelSelector JSON object (NULL: matches
 * nothing). Errors as upstream: "\"Foo\" is not a valid label selector
 * operator", "values: Invalid value: ...", etc.
 */
int sel_label_from_json(const cJSON *ls, struct sel_label *sel, char **err);

/* True when every requirement matches `labels` (an object; NULL = none). */
bool sel_label_matches(const struct sel_label *sel, const cJSON *labels);

/* True when the selector matches everything (no requirements). */
bool sel_label_empty(const struct sel_label *sel);

/* Canonical text (upstream String()); malloc'd, never NULL. */
char *sel_label_string(const struct sel_label *sel);

void sel_label_release(struct sel_label *sel);

/* One field selector term: field=value or field!=value. */
struct sel_field_term {
	char *field;		/* as written, e.g. "metadata.name" */
	char *value;		/* unescaped */
	bool not_equal;		/* "!=" */
};

struct sel_field {
	struct sel_field_term *terms;	/* sorted as upstream (by term text) */
	size_t nterms;
};

#define SEL_FIELD_INIT { NULL, 0 }

/*
 * Parses field selector text; "" yields no terms (matches everything).
 * Errors: "invalid selector: 'S'; can't understand 'T'", "invalid field
 * selector: invalid escape sequence: \\x", "invalid field selector:
 * unescaped character in value: ,". -EINVAL or -E2BIG.
 */
int sel_field_parse(const char *s, struct sel_field *fs, char **err);

/*
 * Returns the value of `field` for the object at hand, or NULL when the
 * object has no such field (treated as "").
 */
typedef const char *(*sel_field_getter)(void *ctx, const char *field);

/* True when every term holds for the object described by get/ctx. */
bool sel_field_matches(const struct sel_field *fs, sel_field_getter get, void *ctx);

/* Canonical text (upstream String(), values escaped); malloc'd. */
char *sel_field_string(const struct sel_field *fs);

void sel_field_release(struct sel_field *fs);

/*
 * Label validation, upstream IsQualifiedName / IsValidLabelValue /
 * IsDNS1123Subdomain. Each fills msgs[] with up to max static messages
 * (upstream wording, e.g. "name part must be no more than 63 bytes") and
 * returns how many apply (0 = valid). The server joins them with "; "
 * as upstream's field.Invalid does.
 */
size_t sel_validate_label_key(const char *key, const char **msgs, size_t max);
size_t sel_validate_label_value(const char *value, const char **msgs, size_t max);
size_t sel_validate_dns1123_subdomain(const char *s, const char **msgs, size_t max);

#endif
