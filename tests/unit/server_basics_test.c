#include "test.h"
#include "server/status.h"
#include "server/tables.h"
#include "server/validate.h"
#include "lib/json.h"
#include "lib/timefmt.h"

#include <errno.h>

TEST(status_not_found_shape)
{
	struct api_error e = { 0 };
	struct buf b = BUF_INIT;
	cJSON *st;

	api_error_not_found(&e, "apps", "deployments", "web");
	ASSERT_EQ(api_error_code(&e), 404);
	api_error_render(&e, &b);
	st = cJSON_Parse(b.data);
	ASSERT_STR_EQ(json_get_str(st, "kind", NULL), "Status");
	ASSERT_STR_EQ(json_get_str(st, "status", NULL), "Failure");
	ASSERT_STR_EQ(json_get_str(st, "reason", NULL), "NotFound");
	ASSERT_STR_EQ(json_get_str(st, "message", NULL), "deployments.apps \"web\" not found");
	ASSERT_STR_EQ(json_get_str(json_get(st, "details"), "group", NULL), "apps");
	ASSERT_STR_EQ(json_get_str(json_get(st, "details"), "kind", NULL), "deployments");
	ASSERT_EQ(json_get_int(st, "code", 0), 404);
	cJSON_Delete(st);
	buf_release(&b);
	api_error_release(&e);
}

TEST(status_invalid_joins_causes)
{
	struct api_error e = { 0 };
	struct buf b = BUF_INIT;
	cJSON *st, *v = cJSON_CreateString("Foo");

	field_invalid(&e, "metadata.name", v, validate_name(NAME_DNS1123_SUBDOMAIN, "Foo"));
	api_error_invalid(&e, "", "ConfigMap", "Foo");
	ASSERT_EQ(api_error_code(&e), 422);
	ASSERT_TRUE(str_has_prefix(e.message, "ConfigMap \"Foo\" is invalid: metadata.name: Invalid value: \"Foo\": a lowercase RFC 1123 subdomain"));
	api_error_render(&e, &b);
	st = cJSON_Parse(b.data);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(json_path(st, "details.causes"), 0), "field", NULL),
		      "metadata.name");
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(json_path(st, "details.causes"), 0), "reason", NULL),
		      "FieldValueInvalid");
	cJSON_Delete(st);
	cJSON_Delete(v);
	buf_release(&b);
	api_error_release(&e);
}

TEST(name_rules)
{
	ASSERT_NULL(validate_name(NAME_DNS1123_SUBDOMAIN, "a.b-c.d"));
	ASSERT_NOT_NULL(validate_name(NAME_DNS1123_SUBDOMAIN, "a..b"));
	ASSERT_NOT_NULL(validate_name(NAME_DNS1123_SUBDOMAIN, "-a"));
	ASSERT_NOT_NULL(validate_name(NAME_DNS1123_LABEL, "a.b"));
	ASSERT_NULL(validate_name(NAME_DNS1123_LABEL, "kube-system"));
	ASSERT_NOT_NULL(validate_name(NAME_DNS1035_LABEL, "1abc"));
	ASSERT_NULL(validate_name(NAME_DNS1035_LABEL, "abc-1"));
	ASSERT_NOT_NULL(validate_name(NAME_PATH_SEGMENT, "a/b"));
	char longname[300];
	memset(longname, 'a', 299);
	longname[299] = 0;
	ASSERT_STR_EQ(validate_name(NAME_DNS1123_SUBDOMAIN, longname), "must be no more than 253 characters");
}

TEST(human_duration_like_kubectl)
{
	char out[32];
	const struct { int64_t s; const char *want; } cases[] = {
		{ 5, "5s" }, { 119, "119s" }, { 200, "3m20s" }, { 600, "10m" }, { 3 * 3600, "3h" },
		{ 3 * 3600 + 120, "3h2m" }, { 30 * 3600, "30h" }, { 3 * 86400, "3d" },
		{ 3 * 86400 + 3600, "3d1h" }, { 100 * 86400, "100d" }, { 3 * 365 * 86400 + 86400, "3y1d" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		table_human_duration(cases[i].s * 1000000000LL, out, sizeof(out));
		ASSERT_STR_EQ(out, cases[i].want);
	}
}

TEST(pod_table_row)
{
	const char *pod = "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
		"\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.0.5\",\"containerStatuses\":["
		"{\"name\":\"a\",\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}}},"
		"{\"name\":\"b\",\"ready\":false,\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}";
	cJSON *o = cJSON_Parse(pod), *t, *cells;
	const cJSON *objs[1] = { o };
	int64_t now;

	ASSERT_OK(rfc3339_parse("2026-01-01T00:05:00Z", &now));
	t = table_build(table_printer_find("", "pods"), objs, 1, TABLE_INCLUDE_METADATA, NULL, now);
	cells = json_get(cJSON_GetArrayItem(json_get(t, "rows"), 0), "cells");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cells, 0)->valuestring, "p");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cells, 1)->valuestring, "1/2");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cells, 2)->valuestring, "CrashLoopBackOff");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cells, 3)->valuestring, "1");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cells, 4)->valuestring, "5m");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cells, 5)->valuestring, "10.42.0.5");
	ASSERT_STR_EQ(json_path(cJSON_GetArrayItem(json_get(t, "rows"), 0), "object.kind")->valuestring,
		      "PartialObjectMetadata");
	ASSERT_STR_EQ(cJSON_GetArrayItem(json_get(t, "columnDefinitions"), 5)->child->valuestring, "IP");
	cJSON_Delete(t);
	cJSON_Delete(o);
}

TEST(default_table_for_unknown_resource)
{
	const struct table_printer *p = table_printer_find("example.com", "widgets");

	ASSERT_EQ(p->ncols, 2);
	ASSERT_STR_EQ(p->cols[1].name, "Created At");
}

#include "server/route.h"

TEST(route_parse_paths)
{
	struct route r;

	ASSERT_OK(route_parse("/api", &r));
	ASSERT_EQ(r.kind, ROUTE_API);
	ASSERT_OK(route_parse("/apis/apps/v1", &r));
	ASSERT_EQ(r.kind, ROUTE_VERSION);
	ASSERT_STR_EQ(r.group, "apps");
	ASSERT_OK(route_parse("/api/v1/namespaces/default/pods/web/log", &r));
	ASSERT_EQ(r.kind, ROUTE_RESOURCE);
	ASSERT_STR_EQ(r.ns, "default");
	ASSERT_STR_EQ(r.resource, "pods");
	ASSERT_STR_EQ(r.name, "web");
	ASSERT_STR_EQ(r.sub, "log");
	ASSERT_OK(route_parse("/api/v1/namespaces/kube-system", &r));
	ASSERT_STR_EQ(r.resource, "namespaces");
	ASSERT_STR_EQ(r.name, "kube-system");
	ASSERT_STR_EQ(r.ns, "");
	ASSERT_OK(route_parse("/api/v1/namespaces/foo/finalize", &r));
	ASSERT_STR_EQ(r.resource, "namespaces");
	ASSERT_STR_EQ(r.name, "foo");
	ASSERT_STR_EQ(r.sub, "finalize");
	ASSERT_OK(route_parse("/api/v1/namespaces/foo/configmaps", &r));
	ASSERT_STR_EQ(r.ns, "foo");
	ASSERT_STR_EQ(r.resource, "configmaps");
	ASSERT_OK(route_parse("/apis/apps/v1/deployments", &r));
	ASSERT_STR_EQ(r.resource, "deployments");
	ASSERT_STR_EQ(r.ns, "");
	ASSERT_OK(route_parse("/healthz", &r));
	ASSERT_EQ(r.kind, ROUTE_NONE);
	ASSERT_EQ(route_parse("/api/v1//pods", &r), -EINVAL);
	ASSERT_EQ(route_parse("/api/v1/namespaces/a/pods/b/c/d", &r), -EINVAL);
}
