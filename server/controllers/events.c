/*
 * server/controllers/events.c - the event recorder: core/v1 Events about
 * controller actions. A repeat of the same (object, type, reason, message)
 * within the last EVENTS_REMEMBERED events increments count and
 * lastTimestamp of the Event already written instead of writing a new one,
 * as client-go's EventCorrelator does.
 */
#include "ctrl_priv.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_REMEMBERED 64
#define EVENT_MESSAGE_MAX 1024

struct ev_rec {
	char *id;		/* uid \n type \n reason \n message */
	cJSON *ev;		/* the Event as last written, without resourceVersion */
	uint64_t used;		/* for eviction: the oldest is replaced */
};

static struct ev_rec recs[EVENTS_REMEMBERED];
static uint64_t clock_;
static struct apiserver *ev_srv;	/* for the re-create after a 404 */

/* Which component reports about which kind. */
static const struct { const char *kind, *component; } components[] = {
	{ "ReplicaSet", "replicaset-controller" },
	{ "Deployment", "deployment-controller" },
};

static const char *component_of(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(components); i++)
		if (!strcmp(components[i].kind, kind))
			return components[i].component;
	return "garbage-collector-controller";
}

static struct ev_rec *rec_find(const char *id)
{
	struct ev_rec *oldest = &recs[0];

	for (size_t i = 0; i < EVENTS_REMEMBERED; i++) {
		if (recs[i].id && !strcmp(recs[i].id, id))
			return &recs[i];
		if (recs[i].used < oldest->used)
			oldest = &recs[i];
	}
	free(oldest->id);
	cJSON_Delete(oldest->ev);
	memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

static void created(int code, const cJSON *obj, void *ud)
{
	(void)code;
	(void)obj;
	(void)ud;
}

static cJSON *event_new(const cJSON *obj, const char *component, const char *type,
			const char *reason, const char *msg, const char *now)
{
	const cJSON *m = json_get(obj, "metadata");
	const char *ns = json_get_str(m, "namespace", ""), *kind = json_get_str(obj, "kind", "");
	cJSON *ev = cJSON_CreateObject(), *em, *io;
	char *name = xasprintf("%s.%llx", json_get_str(m, "name", ""), (unsigned long long)wall_ns());

	json_set_str(ev, "apiVersion", "v1");
	json_set_str(ev, "kind", "Event");
	em = json_obj(ev, "metadata");
	json_set_str(em, "name", name);
	json_set_str(em, "namespace", *ns ? ns : "default");
	io = json_obj(ev, "involvedObject");
	json_set_str(io, "apiVersion", json_get_str(obj, "apiVersion", ""));
	json_set_str(io, "kind", kind);
	if (*ns)
		json_set_str(io, "namespace", ns);
	json_set_str(io, "name", json_get_str(m, "name", ""));
	json_set_str(io, "uid", json_get_str(m, "uid", ""));
	json_set_str(io, "resourceVersion", json_get_str(m, "resourceVersion", ""));
	json_set_str(ev, "reason", reason);
	json_set_str(ev, "message", msg);
	json_set_str(json_obj(ev, "source"), "component", component);
	json_set_str(ev, "firstTimestamp", now);
	json_set_str(ev, "lastTimestamp", now);
	json_set_int(ev, "count", 1);
	json_set_str(ev, "type", type);
	json_set_str(ev, "reportingComponent", component);
	json_set_str(ev, "reportingInstance", "k1s");
	free(name);
	return ev;
}

/* A repeat whose Event went away (TTL, deleted): write it anew. */
static void updated(int code, const cJSON *obj, void *ud)
{
	(void)obj;
	if (code == 404) {
		cJSON *ev = ud;

		api_internal_create(ev_srv, "", "events", json_path(ev, "metadata.namespace")->valuestring,
				    ev, created, NULL);
	}
	cJSON_Delete(ud);
}

static void event_record(struct apiserver *s, const char *component, const cJSON *obj,
			 const char *type, const char *reason, const char *msg)
{
	char now[RFC3339_MAX], *id;
	struct ev_rec *r;

	ev_srv = s;
	rfc3339_format((int64_t)wall_ns(), now);
	id = xasprintf("%s\n%s\n%s\n%s", json_get_str(json_get(obj, "metadata"), "uid", ""), type,
		       reason, msg);
	r = rec_find(id);
	r->used = ++clock_;
	if (r->id) {
		free(id);
		json_set_int(r->ev, "count", json_get_int(r->ev, "count", 1) + 1);
		json_set_str(r->ev, "lastTimestamp", now);
		api_internal_update(s, "", "events", "", r->ev, updated, cJSON_Duplicate(r->ev, 1));
		return;
	}
	r->id = id;
	r->ev = event_new(obj, component, type, reason, msg, now);
	api_internal_create(s, "", "events", json_path(r->ev, "metadata.namespace")->valuestring,
			    r->ev, created, NULL);
}

void ctrl_event(struct apiserver *s, const cJSON *obj, const char *type, const char *reason,
		const char *fmt, ...)
{
	char msg[EVENT_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_record(s, component_of(json_get_str(obj, "kind", "")), obj, type, reason, msg);
}

void ctrl_event_as(struct apiserver *s, const char *component, const cJSON *obj,
		   const char *type, const char *reason, const char *fmt, ...)
{
	char msg[EVENT_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_record(s, component, obj, type, reason, msg);
}

void ctrl__events_release(void)
{
	for (size_t i = 0; i < EVENTS_REMEMBERED; i++) {
		free(recs[i].id);
		cJSON_Delete(recs[i].ev);
	}
	memset(recs, 0, sizeof(recs));
}
