#include "status.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *str; int code; } reasons[] = {
#define XX(e, s, c) { s, c },
	STATUS_REASONS(XX)
#undef XX
};

const char *status_reason_str(enum status_reason r)
{
	BUG_ON(r >= STATUS__MAX);
	return reasons[r].str;
}

int status_reason_code(enum status_reason r)
{
	BUG_ON(r >= STATUS__MAX);
	return reasons[r].code;
}

void api_error_set(struct api_error *e, enum status_reason r, const char *fmt, ...)
{
	va_list ap;

	e->reason = r;
	free(e->message);
	va_start(ap, fmt);
	e->message = xvasprintf(fmt, ap);
	va_end(ap);
}

static void replace(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

void api_error_details(struct api_error *e, const char *group, const char *kind,
		       const char *name)
{
	replace(&e->group, group);
	replace(&e->kind, kind);
	replace(&e->name, name);
}

void api_error_add_cause(struct api_error *e, const char *reason, const char *field,
			 const char *fmt, ...)
{
	struct status_cause *c;
	va_list ap;

	ALLOC_GROW(e->causes, e->ncauses + 1, e->alloc);
	c = &e->causes[e->ncauses++];
	c->reason = xstrdup(reason);
	c->field = field ? xstrdup(field) : NULL;
	va_start(ap, fmt);
	c->message = xvasprintf(fmt, ap);
	va_end(ap);
}

void api_error_release(struct api_error *e)
{
	for (size_t i = 0; i < e->ncauses; i++) {
		free(e->causes[i].reason);
		free(e->causes[i].message);
		free(e->causes[i].field);
	}
	free(e->causes);
	free(e->message);
	free(e->name);
	free(e->group);
	free(e->kind);
	memset(e, 0, sizeof(*e));
}

static char *qualified(const char *group, const char *resource)
{
	return group && *group ? xasprintf("%s.%s", resource, group) : xstrdup(resource);
}

void api_error_not_found(struct api_error *e, const char *group, const char *resource,
			 const char *name)
{
	char *q = qualified(group, resource);

	api_error_set(e, STATUS_NOT_FOUND, "%s \"%s\" not found", q, name);
	api_error_details(e, group, resource, name);
	free(q);
}

void api_error_already_exists(struct api_error *e, const char *group,
			      const char *resource, const char *name)
{
	char *q = qualified(group, resource);

	api_error_set(e, STATUS_ALREADY_EXISTS, "%s \"%s\" already exists", q, name);
	api_error_details(e, group, resource, name);
	free(q);
}

void api_error_conflict(struct api_error *e, const char *group, const char *resource,
			const char *name)
{
	char *q = qualified(group, resource);

	api_error_set(e, STATUS_CONFLICT,
		      "Operation cannot be fulfilled on %s \"%s\": the object has been "
		      "modified; please apply your changes to the latest version and try again",
		      q, name);
	api_error_details(e, group, resource, name);
	free(q);
}

void api_error_invalid(struct api_error *e, const char *group, const char *kind,
		       const char *name)
{
	struct buf b = BUF_INIT;
	char *q = qualified(group, kind);

	buf_addf(&b, "%s \"%s\" is invalid: ", q, name ? name : "");
	if (e->ncauses > 1)
		buf_addch(&b, '[');
	for (size_t i = 0; i < e->ncauses; i++) {
		if (i)
			buf_addstr(&b, ", ");
		if (e->causes[i].field)
			buf_addf(&b, "%s: ", e->causes[i].field);
		buf_addstr(&b, e->causes[i].message);
	}
	if (e->ncauses > 1)
		buf_addch(&b, ']');
	e->reason = STATUS_INVALID;
	free(e->message);
	e->message = buf_detach(&b, NULL);
	api_error_details(e, group, kind, name);
	free(q);
}

static void add_details(cJSON *st, const char *group, const char *kind,
			const char *name, const char *uid)
{
	cJSON *d;

	if (!group && !kind && !name)
		return;
	d = json_obj(st, "details");
	if (name)
		json_set_str(d, "name", name);
	if (group && *group)
		json_set_str(d, "group", group);
	if (kind)
		json_set_str(d, "kind", kind);
	if (uid)
		json_set_str(d, "uid", uid);
}

void api_error_render(const struct api_error *e, struct buf *b)
{
	cJSON *st = cJSON_CreateObject();

	json_set_str(st, "kind", "Status");
	json_set_str(st, "apiVersion", "v1");
	json_obj(st, "metadata");
	json_set_str(st, "status", "Failure");
	json_set_str(st, "message", e->message ? e->message : status_reason_str(e->reason));
	json_set_str(st, "reason", status_reason_str(e->reason));
	add_details(st, e->group, e->kind, e->name, NULL);
	if (e->ncauses || e->retry_after) {
		cJSON *d = json_obj(st, "details"), *arr = cJSON_CreateArray();

		for (size_t i = 0; i < e->ncauses; i++) {
			cJSON *c = cJSON_CreateObject();

			json_set_str(c, "reason", e->causes[i].reason);
			json_set_str(c, "message", e->causes[i].message);
			if (e->causes[i].field)
				json_set_str(c, "field", e->causes[i].field);
			cJSON_AddItemToArray(arr, c);
		}
		if (e->ncauses)
			json_set(d, "causes", arr);
		else
			cJSON_Delete(arr);
		if (e->retry_after)
			json_set_int(d, "retryAfterSeconds", e->retry_after);
	}
	json_set_int(st, "code", status_reason_code(e->reason));
	json_print_buf(st, b);
	cJSON_Delete(st);
}

void status_success_render(struct buf *b, const char *group, const char *kind,
			   const char *name, const char *uid)
{
	cJSON *st = cJSON_CreateObject();

	json_set_str(st, "kind", "Status");
	json_set_str(st, "apiVersion", "v1");
	json_obj(st, "metadata");
	json_set_str(st, "status", "Success");
	add_details(st, group, kind, name, uid);
	json_print_buf(st, b);
	cJSON_Delete(st);
}
