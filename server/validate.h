/*
 * server/validate.h - object validation shared by all kinds: names and
 * metadata, with kube-apiserver's messages. Each check appends causes to an
 * api_error (status.h); the caller turns them into one 422 with
 * api_error_invalid() once all checks ran, so a user sees every problem.
 */
#ifndef K1S_SERVER_VALIDATE_H
#define K1S_SERVER_VALIDATE_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "status.h"

/* How a kind's metadata.name is checked. */
enum name_rule {
	NAME_DNS1123_SUBDOMAIN,	/* most kinds */
	NAME_DNS1123_LABEL,	/* namespaces, ... */
	NAME_DNS1035_LABEL,	/* services */
	NAME_PATH_SEGMENT,	/* RBAC roles and bindings, ... */
};

/*
 * Returns NULL when s is valid under rule, else the upstream explanation
 * (static string) for "Invalid value: ...".
 */
const char *validate_name(enum name_rule rule, const char *s);
bool is_dns1123_label(const char *s);
bool is_dns1123_subdomain(const char *s);

/* Appends an "Invalid value" cause in upstream's format. */
void field_invalid(struct api_error *e, const char *field, const cJSON *value,
		   const char *detail);
void field_required(struct api_error *e, const char *field, const char *detail);
void field_forbidden(struct api_error *e, const char *field, const char *detail);
void field_too_long(struct api_error *e, const char *field, size_t max);
void field_not_supported(struct api_error *e, const char *field, const char *value,
			 const char *const *supported);

#endif
