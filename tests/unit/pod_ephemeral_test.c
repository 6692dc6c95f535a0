/* Ephemeral containers' validation (server/pod_ephemeral.c) and the
 * nodes/<n>/proxy/<path> route. */
#include "test.h"
#include "server/pods.h"
#include "server/route.h"
#include "lib/json.h"

#include <errno.h>
#include <string.h>

static cJSON *pod_with(const char *eph)
{
	char *text = xasprintf("{\"spec\":{\"containers\":[{\"name\":\"app\"}],"
			       "\"initContainers\":[{\"name\":\"init\"}],\"ephemeralContainers\":%s}}", eph);
	cJSON *p = cJSON_Parse(text);

	free(text);
	return p;
}

/* "field message|field message|..." of e's causes */
static char *causes(const struct api_error *e)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < e->ncauses; i++)
		buf_addf(&b, "%s%s %s", i ? "|" : "", e->causes[i].field, e->causes[i].message);
	return buf_detach(&b, NULL);
}

static char *check(const char *eph)
{
	struct api_error e = { 0 };
	cJSON *p = pod_with(eph);
	char *s;

	pods_validate_ephemeral(p, &e);
	s = causes(&e);
	api_error_release(&e);
	cJSON_Delete(p);
	return s;
}

TEST(ephemeral_allowed_fields)
{
	char *s = check("[{\"name\":\"d\",\"image\":\"b\",\"stdin\":true,\"tty\":true,\"env\":[{\"name\":\"A\"}],"
			"\"securityContext\":{\"privileged\":true},\"resources\":{},\"ports\":[],"
			"\"targetContainerName\":\"app\"}]");

	ASSERT_STR_EQ(s, "");
	free(s);
	s = check("[{\"name\":\"d\",\"ports\":[{\"containerPort\":1}],\"livenessProbe\":{\"exec\":{}},"
		  "\"restartPolicy\":\"Always\",\"volumeMounts\":[{\"name\":\"v\",\"subPathExpr\":\"x\"}]}]");
	ASSERT_STR_EQ(s, "spec.ephemeralContainers[0].ports Forbidden: cannot be set for an Ephemeral Container|"
		      "spec.ephemeralContainers[0].restartPolicy Forbidden: cannot be set for an Ephemeral Container|"
		      "spec.ephemeralContainers[0].livenessProbe Forbidden: cannot be set for an Ephemeral Container|"
		      "spec.ephemeralContainers[0].volumeMounts[0].subPathExpr Forbidden: cannot be set for an Ephemeral Container");
	free(s);
}

TEST(ephemeral_names_and_target)
{
	char *s = check("[{\"name\":\"init\"},{\"name\":\"d\",\"targetContainerName\":\"d\"},{\"name\":\"d\"}]");

	ASSERT_STR_EQ(s, "spec.ephemeralContainers[0].name Duplicate value: \"init\"|"
		      "spec.ephemeralContainers[1].targetContainerName Not found: \"d\"|"
		      "spec.ephemeralContainers[2].name Duplicate value: \"d\"");
	free(s);
}

TEST(ephemeral_update_keeps_existing)
{
	cJSON *old = pod_with("[{\"name\":\"a\",\"image\":\"x\"},{\"name\":\"b\",\"image\":\"x\"}]");
	cJSON *new = pod_with("[{\"name\":\"d\"}]"), *body;
	struct api_error e = { 0 };
	char *s;

	/* only the ephemeral containers of the body count */
	body = cJSON_Parse("{\"spec\":{\"containers\":[],\"ephemeralContainers\":[{\"name\":\"b\",\"image\":\"y\"},"
			   "{\"name\":\"c\"}]}}");
	pods_ephemeral_merge(body, old);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(json_path(body, "spec.containers"), 0), "name", ""), "app");
	pods_validate_ephemeral_update(body, old, &e);
	s = causes(&e);
	ASSERT_STR_EQ(s, "spec.ephemeralContainers Forbidden: existing ephemeral containers \"a\" may not be removed\n|"
		      "spec.ephemeralContainers Forbidden: existing ephemeral containers \"b\" may not be changed\n");
	free(s);
	api_error_release(&e);
	cJSON_Delete(body);
	cJSON_Delete(new);
	cJSON_Delete(old);
}

TEST(route_node_proxy)
{
	const char *path = "/api/v1/nodes/n1/proxy/containerLogs/ns/pod/c/a/b/c";
	struct route r;

	ASSERT_OK(route_parse(path, &r));
	ASSERT_STR_EQ(r.resource, "nodes");
	ASSERT_STR_EQ(r.name, "n1");
	ASSERT_STR_EQ(r.sub, "proxy");
	ASSERT_STR_EQ(path + r.rest_off, "containerLogs/ns/pod/c/a/b/c");
	ASSERT_OK(route_parse("/api/v1/nodes/n1/proxy", &r));
	ASSERT_EQ(r.rest_off, 0u);
	ASSERT_EQ(route_parse("/api/v1/nodes/n1/status/a/b/c/d/e/f/g/h", &r), -EINVAL);
}
