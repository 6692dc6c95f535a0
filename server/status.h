/*
 * server/status.h - metav1.Status errors, as kube-apiserver writes them.
 *
 * Every error the API answers is a Status object built here. The reason →
 * HTTP code map is one X-macro table (STATUS_REASONS) so the two never drift.
 * An api_error is built by the code that detects the problem and rendered by
 * the response writer; it owns its strings. Field causes (reason, message,
 * field) are what `kubectl` prints for 422 Invalid.
 */
#ifndef K1S_SERVER_STATUS_H
#define K1S_SERVER_STATUS_H

#include <cjson/cJSON.h>
#include "lib/buf.h"

#define STATUS_REASONS(XX) \
	XX(BAD_REQUEST, "BadRequest", 400) \
	XX(UNAUTHORIZED, "Unauthorized", 401) \
	XX(FORBIDDEN, "Forbidden", 403) \
	XX(NOT_FOUND, "NotFound", 404) \
	XX(METHOD_NOT_ALLOWED, "MethodNotAllowed", 405) \
	XX(NOT_ACCEPTABLE, "NotAcceptable", 406) \
	XX(ALREADY_EXISTS, "AlreadyExists", 409) \
	XX(CONFLICT, "Conflict", 409) \
	XX(GONE, "Gone", 410) \
	XX(EXPIRED, "Expired", 410) \
	XX(REQUEST_ENTITY_TOO_LARGE, "RequestEntityTooLarge", 413) \
	XX(UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", 415) \
	XX(INVALID, "Invalid", 422) \
	XX(TOO_MANY_REQUESTS, "TooManyRequests", 429) \
	XX(INTERNAL_ERROR, "InternalError", 500) \
	XX(SERVICE_UNAVAILABLE, "ServiceUnavailable", 503) \
	XX(TIMEOUT, "Timeout", 504)

enum status_reason {
#define XX(e, s, c) STATUS_##e,
	STATUS_REASONS(XX)
#undef XX
	STATUS__MAX
};

struct status_cause {
	char *reason;	/* FieldValueInvalid, FieldValueRequired, ... */
	char *message;
	char *field;	/* "spec.containers[0].name" */
};

struct api_error {
	enum status_reason reason;
	char *message;
	char *name;	/* details.name, or NULL */
	char *group;	/* details.group, or NULL */
	char *kind;	/* details.kind (the resource for NotFound etc.), or NULL */
	struct status_cause *causes;
	size_t ncauses, alloc;
	int retry_after;	/* seconds, 0 = none */
};

const char *status_reason_str(enum status_reason r);
int status_reason_code(enum status_reason r);

/* Fills e (which must be zeroed) with a reason and a formatted message. */
void api_error_set(struct api_error *e, enum status_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void api_error_details(struct api_error *e, const char *group, const char *kind,
		       const char *name);
void api_error_add_cause(struct api_error *e, const char *reason, const char *field,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void api_error_release(struct api_error *e);
static inline int api_error_code(const struct api_error *e)
{
	return status_reason_code(e->reason);
}

/* Renders the Status JSON of e into b. */
void api_error_render(const struct api_error *e, struct buf *b);

/*
 * The common errors, with kube-apiserver's wording. `resource` is the plural
 * resource name ("configmaps"), qualified with its group when there is one
 * ("deployments.apps").
 */
void api_error_not_found(struct api_error *e, const char *group, const char *resource,
			 const char *name);
void api_error_already_exists(struct api_error *e, const char *group,
			      const char *resource, const char *name);
void api_error_conflict(struct api_error *e, const char *group, const char *resource,
			const char *name);
/* 422: "<Kind> \"name\" is invalid: <causes joined>" from the causes already added. */
void api_error_invalid(struct api_error *e, const char *group, const char *kind,
		       const char *name);

/* A success Status ({"status":"Success"}) as returned by some deletes. */
void status_success_render(struct buf *b, const char *group, const char *kind,
			   const char *name, const char *uid);

#endif
